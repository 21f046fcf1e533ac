# The bank's Heroku estate. The copilot (which holds the Heroku Connect database) runs in the US
# Common Runtime; the EU Private Space hosts only the gateway.
resource "heroku_space" "eu" {
  name   = "bank-eu"
  region = "frankfurt"
}

resource "heroku_app" "copilot" {
  name   = "advisor-copilot"
  region = "us"
}

resource "heroku_app" "gateway" {
  name  = "llm-gateway"
  space = heroku_space.eu.name
}
