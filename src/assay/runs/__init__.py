"""Run folders: ids, layout, and reading/writing the files a run leaves behind."""
