"""Floor 4, evaluation of predictions: metrics on probabilities (``metrics``), what a model predicts
(``prediction``: member softmax ``(N, M, K)``) and robustness under shift (``shift``). Training (floor 5) calls
it after every epoch, so it knows nothing of training."""
