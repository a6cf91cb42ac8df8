"""Harmonization: pure PySpark functions from clean DataFrames to the curated model's DataFrames.

Nothing here reads or writes storage or knows Dagster: the curated assets load the inputs, call these
functions and commit the results. Every function takes and returns Spark DataFrames, so the same code
runs on a laptop's ``local[2]`` session and on a cluster.
"""
