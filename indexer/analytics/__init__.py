"""Search analytics: what was searched, what was opened, and what the corpus lacks.

    records.py   a settled search and a click, as the web app hands them over
    store.py     one SQLite file (WAL) per replica, outside the index generations
    recorder.py  a background thread writing batches off the request path
    report.py    searches per day, top queries, content gaps, click-through, slowest

Nothing here stores an IP address, a cookie or a user agent: at most a random
id per browser tab, so a widget's keystrokes fold into one search.
"""
