"""Batch analysis: many inputs (folders, globs, lists), resumable, over worker processes or a Dask cluster.

- `emofuse.batch.inputs`: find the media files and the output name of each (mirroring the input tree)
- `emofuse.batch.work`: the one unit of work, `analyse_one(job, task)` -> its index row
- `emofuse.batch.journal`: what is done, with the settings and model hashes that made it
- `emofuse.batch.local`: `--jobs N` worker processes (timeouts, one retry when a worker dies)
- `emofuse.batch.cluster`: `--cluster tcp://HOST:8786`, the same unit of work on Dask distributed
- `emofuse.batch.index`: `DIR/index.csv`, a row per input, rewritten atomically as files finish
- `emofuse.batch.report`: the progress bar over files (media-seconds, ETA) and the summary table
- `emofuse.batch.run`: `emofuse analyze` in batch mode, tying these together
"""
