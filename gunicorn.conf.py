"""gunicorn's settings, read from the working directory by every `gunicorn wsgi:app`.

An over-long request line would get gunicorn's own bare "414" page (its limit is 8,190 bytes).
0 lifts that limit to gunicorn's hard cap of 1 MB, so the app answers instead: any address over
MAX_URL_LENGTH (app/config.py) gets the app's styled 414 page (app/errors.py).
"""

limit_request_line = 0
