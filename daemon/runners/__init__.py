"""Stages as runners: each says only what to do with one item; the base does the rest."""
