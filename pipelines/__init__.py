"""Offline stages (layer 2), one sub-package each: data, tasks, train, evaluate, batch.

They stand on :mod:`inference` and :mod:`models`; the service never imports them.
"""
