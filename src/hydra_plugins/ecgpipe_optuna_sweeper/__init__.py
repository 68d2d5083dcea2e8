"""ecgpipe's Optuna sweeper as a Hydra plugin (Hydra finds sweepers in ``hydra_plugins`` only);
the work is :mod:`ecgpipe.tuning`."""
