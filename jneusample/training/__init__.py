"""How a model learns: the trainer, its optimizer and schedules, and sample field extraction (with its distillation loss)."""
