"""Human evaluation: blind rating of model outputs in a local web app, stored in SQLite.

    ITEMS.jsonl --load_items--> Item --Store.create--> ratings.sqlite <--app (annotators rate)
    ratings.sqlite --export_rows--> JSONL rows;  --agreement--> kappa / alpha

See `assay.human.items` for the items file format and `assay.human.export` for the export format.
`assay.human.agreement` is not re-exported here: it loads numpy/scipy through assay.stats, which the web app
does not need.
"""

from assay.human.export import export_rows, write_jsonl
from assay.human.items import Item, Mode, load_items
from assay.human.storage import Rating, Store

__all__ = ["Item", "Mode", "Rating", "Store", "export_rows", "load_items", "write_jsonl"]
