"""Training with PyTorch Lightning: the data module, the classifier (a ``LightningModule``),
losses and augmentation."""
