"""Evaluation of predictions: metrics on probabilities (``metrics``), what a model predicts
(``prediction``: member softmax ``(N, M, K)``) and robustness under shift (``shift``). Training calls
it after every epoch, so it knows nothing of training."""
