"""Training: the loss, the precision probe, the Lightning system (task), the trainer and its
run folders (trainer, runs), checkpoint averaging (averaging) and back-translation."""
