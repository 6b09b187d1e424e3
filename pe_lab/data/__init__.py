"""The data: images in memory (``images``: CIFAR-10, SVHN, image folders, synthetic sets, batches),
streamed from disk (``streaming``), shifted (``corruptions``: CIFAR-10-C style, offline), the official shift
benchmarks' files (``benchmarks``) and the data pack for a GPU machine (``datapack``)."""
