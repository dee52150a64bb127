"""Versioning with DVC: a pipeline of `assay run` stages over a models x tasks matrix, and paired diffs.

    pipeline   `assay dvc init`: params.yaml (limits, few-shot, seed, batch size, model fingerprints) and a
               dvc.yaml whose `foreach` stages each run one model on one task into runs/<model>-<task>/,
               plus a final stage that builds the leaderboard and report from those folders
    collect    the final stage's leaderboard, rows named by the pipeline's model keys
    diff       `assay dvc diff`: two revisions' run folders paired by sample id, with paired tests

DVC itself is an optional dependency (`pip install 'assay[dvc]'`); only `diff` imports it, to read an older
revision's outputs from the DVC cache.
"""
