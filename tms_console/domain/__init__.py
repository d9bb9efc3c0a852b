"""The shared vocabulary: the bottom layer, imported by everything below the UI, importing nothing of ours."""
