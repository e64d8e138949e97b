"""Bridges to other engines (lm-evaluation-harness: `alpha.integrations.lm_eval`).

Nothing is imported here: each bridge needs its engine installed (`pip install -e .[harness]`)
and registers itself on import.
"""
