"""The trend report of a history: :mod:`.model` (what it says, from loaded data) and :mod:`.site` (the files).

The data comes loaded (:func:`benchwatch.history.trend_data.load_trend_data`); nothing here reads the store.
"""
