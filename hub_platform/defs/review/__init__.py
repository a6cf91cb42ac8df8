"""The clerical review loop every matching domain shares: queue.py (which pairs a steward sees, labels as
rows), accuracy.py (precision, recall, F1 and a threshold from labels), assets.py (review/queue and the
review/labels table `hub review` writes)."""
