"""Package marker so the module file ships with the wheel; `evaluate.load` reads the folder."""
