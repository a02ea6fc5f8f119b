"""tokyobeta: the daily data pipeline of the gghouse share-house system.

All logic lives in this package; the files under dags/ only declare tasks and their order.
"""
