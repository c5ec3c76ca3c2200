"""What tasks share: file readers and padding, pooled heads, labelled-sequence machinery, scaling, and the
torch-free audio and video front ends."""
