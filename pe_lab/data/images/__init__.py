"""Data: CIFAR-10 (train/test) and SVHN test (out-of-distribution), as uint8 tensors held in memory.

Where the images come from, in order:

1. ``root`` (argument) or ``$PE_LAB_DATA``: torchvision's own files (``cifar-10-batches-py/``,
   ``test_32x32.mat``) or an ImageFolder tree of class folders (``cifar10-jpeg/{train,test}/<class>/``,
   ``svhn-test/<digit>/``); the root may also be the tree itself.
2. torchvision's download (``download=True``, the default): the usual case on Colab, Binder or a laptop.
3. Otherwise an error that lists these ways. Synthetic data is only made when asked for
   (``synthetic_dataset``), and it says so in ``ImageSet.source``.

Images are decoded once into a ``(N, 3, 32, 32)`` uint8 tensor and cached on disk. ``Batches`` then
serves normalised, augmented float batches with tensor ops only (no per-image Python), on whatever
device the tensor lives on: on CUDA the whole set sits on the GPU.

One module per concept: ``imageset`` (``ImageSet``, ``subset``), ``datasets`` (CIFAR-10, SVHN, ``lab_data``),
``folders`` (listing, decoding, image folders, ``DataError``), ``synthetic`` and ``batches`` (normalisation,
the CIFAR augmentation ``crop_and_flip``, ``Batches``).
"""

from __future__ import annotations

from .batches import CIFAR10_MEAN, CIFAR10_STD, Batches, crop_and_flip, normalize
from .datasets import CIFAR10_CLASSES, lab_data, load_cifar10, load_svhn
from .folders import (
    DataError,
    class_folders,
    decode_image,
    image_files,
    labelled_files,
    list_files,
    load_image_folder,
    match_classes,
    reading,
    regular_file,
)
from .imageset import ImageSet, dataset_name, subset
from .synthetic import synthetic_dataset, synthetic_splits

__all__ = [
    "Batches", "CIFAR10_CLASSES", "CIFAR10_MEAN", "CIFAR10_STD", "DataError", "ImageSet", "class_folders",
    "crop_and_flip", "dataset_name", "decode_image", "image_files", "lab_data", "labelled_files", "list_files",
    "load_cifar10", "load_image_folder", "load_svhn", "match_classes", "normalize", "reading", "regular_file", "subset",
    "synthetic_dataset", "synthetic_splits"]
