//! Curvine client (in progress).
