"""Handwriting sets (a person's own digits), synthetic writers, fine-tuning on them and what it changed."""
