"""Model backends behind one batch-in/batch-out seam (see base.Model)."""
