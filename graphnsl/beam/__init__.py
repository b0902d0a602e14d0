"""Apache Beam pipelines of graphnsl's data tools (optional: `pip install 'graphnsl[beam]'`)."""
