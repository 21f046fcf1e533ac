"""`python -m apexscan …` is `apexscan …`."""
from apexscan.interfaces.cli import main

if __name__ == "__main__":  # not when a worker process re-imports the main module
    main(prog_name="apexscan")
