"""Signal processing and the cache: filters and resampling (:mod:`.dsp`), beats, preprocessing
into memory maps, normalisation, windows. NumPy/SciPy, no torch."""
