/**
 * Plumbing shared by the op packages and kernels4j's own validation and bench modules: argument
 * checks, status translation and access to stream handles and device addresses. Not API: the
 * module exports it only to {@code io.kernels4j.validation} and {@code io.kernels4j.bench}.
 */
package io.kernels4j.ops.internal;
