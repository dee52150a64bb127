"""The static HTML report: leaderboard, charts, run pages and per-sample diffs (`assay report`)."""
