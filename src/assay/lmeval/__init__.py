"""lm-evaluation-harness's tasks, read unchanged: the second task source beside assay's own YAML.

A task named `lm:NAME` (a task, group or tag of an installed lm-eval, or of the lm-eval YAML files the user
adds with `--include`) is run by lm-eval's own code for everything that gives a task its meaning (templates,
few-shot sampling, filters, process_results, aggregation, group scores), so its numbers are lm-eval's by
construction and every task of the zoo works, including those added later. assay owns the rest: the model
(its backends, packed scorer and prefix sharing), units of work, the response cache and journal (so --resume
recomputes nothing), --executor ray, the run folder, leaderboard rows, tracking, compare and gate.

    catalog.py   which lm-eval names exist, where their YAML comes from (install or --include), `assay tasks`
    rows.py      an lm-eval dataset read from the data folder (<dataset_path>/<name>/<split>.jsonl) offline
    adapter.py   lm-eval's model interface answered by an assay model: Instances -> assay requests -> answers
    evaluate.py  one call of lm-eval's simple_evaluate per model, turned into TaskResults and SampleResults
    sandboxed.py evaluate's code_eval answered by assay's sandbox: unsafe_code tasks never run code in-process
    templates.py lm-eval's Jinja templates compiled once per process, not once per document
    compat.py    what lm-eval's task modules import from libraries that dropped it (transformers' squad_metrics)
"""
