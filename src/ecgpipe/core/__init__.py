"""The foundation every layer uses: errors, atomic writes, the project's paths and outputs, the
parallel map, progress, lead names. Nothing here knows ECG datasets, models or MLflow."""
