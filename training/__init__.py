"""The run loop, checkpoints, logging and run-dir files shared by train.py and evaluate.py."""
