namespace ZkLora.Model;

/// <summary>
/// A model, adapter, tokenizer or tensor file is malformed or does not match what it must describe
/// (bad header, wrong shape, unknown dtype, missing tensor, non-finite weight, ...).
/// </summary>
public sealed class ModelFormatException : FormatException
{
    /// <summary>Creates the exception with a message that names the file and the problem.</summary>
    public ModelFormatException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and the error that caused it.</summary>
    public ModelFormatException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>A model or adapter named by path or Hugging Face name could not be found on this machine.</summary>
public sealed class ModelNotFoundException : IOException
{
    /// <summary>Creates the exception with a message that says where it looked.</summary>
    public ModelNotFoundException(string message) : base(message) { }
}
