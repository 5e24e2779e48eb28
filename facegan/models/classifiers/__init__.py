"""Classifier networks (no I/O): the face-attribute CNN and the digit CNN. Their training lives with
their uses (``facegan.editing.attribute_training``, ``facegan.evaluation.digits``)."""
