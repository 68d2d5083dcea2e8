"""Hyperparameter searches with Optuna (``ecgpipe-sweep -m hparams_search=optuna``).

The Hydra sweeper (registered from ``hydra_plugins.ecgpipe_optuna_sweeper``, as Hydra requires)
asks an Optuna study for trials, has Hydra's launcher run them as sweep jobs, and tells the
study how each ended. The study lives in a database (SQLite by default), so a rerun of the same
command resumes it and jobs in other processes (joblib, SLURM) report their per-epoch
validation value to it, which lets the pruner stop unpromising trials early.

- :mod:`~ecgpipe.tuning.config`: the sweeper's settings (a Hydra structured config).
- :mod:`~ecgpipe.tuning.space`: the search space, in Hydra's sweep syntax, as Optuna
  distributions.
- :mod:`~ecgpipe.tuning.study`: the study: storage, sampler, pruner; resuming an interrupted one.
- :mod:`~ecgpipe.tuning.sweeper`: ask, launch, tell.
- :mod:`~ecgpipe.tuning.trial`: a job's side: which trial it is, per-epoch reports, pruning.
"""
