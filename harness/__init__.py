"""Framework glue outside the library: Hydra config schemas, W&B logging, tuning, tables.

This package may import hydra, omegaconf and wandb; `alpha/` never does.
"""
