"""The Heroku Connect database the copilot shares with this worker."""
import os

import psycopg2
from psycopg2.extras import RealDictCursor


def connect():
    return psycopg2.connect(os.environ["DATABASE_URL"], cursor_factory=RealDictCursor)
