"""A video in, a model's completion out: what `actrep eval`, `actrep eval-api` and `actrep count` share.

local.py: `LocalModelCounter`, a local checkpoint with its saved video settings and prompt variant,
generating for batches of videos. api.py: provider clients (OpenAI, Gemini, OpenAI-compatible
servers) that send the sampled frames with their timestamps and retry what is worth retrying.

A foundation. May import: other foundations (models, video, settings, prompts, config, errors).
"""
