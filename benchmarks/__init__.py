"""Performance runs, never part of the test suite: each prints figures next to a reference measured in the same run."""
