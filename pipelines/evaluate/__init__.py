"""Stage 4, evaluation: one scorer fed by one Predictor protocol; production evaluation.

``predictors`` (the :class:`TaskPredictor` protocol: raw model, bundle, kriging),
``scores`` (the one scorer), ``kriging`` (GSTools peers), ``run`` (``equigrid evaluate``'s
protocol), ``report`` (Markdown) and ``maps`` (maps of one task).
"""
