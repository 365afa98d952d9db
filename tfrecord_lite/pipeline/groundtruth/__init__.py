"""The reading side: knows SageMaker Ground Truth, knows nothing of TFRecord."""
