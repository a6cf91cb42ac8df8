"""Customer identity resolution: person records from every person feed, matched with Splink 5.

records.py builds one table of person records from the clean feeds whose contract entity is a
person; settings.py renders the matching description (matching.yaml) into Splink settings for a SQL
dialect; model.py trains the Fellegi-Sunter model (EM) and scores pairs with per-field evidence on
Spark or DuckDB; clusters.py clusters the pairs and assigns customer ids that stay stable across
runs, with a history of merges and splits; golden.py chooses each customer's values by documented
survivorship rules; explain.py shows why records are one customer; evaluation.py scores the result
against ground truth.
"""
