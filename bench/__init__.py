"""`make bench`: the portal's hot paths against baselines measured in the same run (issue #7)."""
