"""The generic GAN trainer, checkpoints, distributed launch and reporting."""
