/** An application module using kernels4j: the API, plus the kernels4j examples it runs. */
module com.example.consumer {
    requires io.kernels4j.ops;
    requires io.kernels4j.examples;
}
