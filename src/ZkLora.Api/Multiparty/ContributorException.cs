using System.Numerics;
using System.Security.Cryptography;
using ZkLora.Model;
using ZkLora.Proofs;
using static TorchSharp.torch;
using FsEntry = ZkLora.Proofs.TranscriptEntry;
using FsFixedPoint = ZkLora.Proofs.FixedPoint;

namespace ZkLora.Api.Multiparty;

/// <summary>A contributor could not be used: it failed, refused a request or answered inconsistently.</summary>
public sealed class ContributorException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What went wrong, naming the contributor and the module.</param>
    /// <param name="inner">The underlying failure (I/O, timeout, protocol), if any.</param>
    public ContributorException(string message, Exception? inner = null) : base(message, inner) { }

    /// <summary>
    /// The contributor's wire error code when the failure is its error frame (for example
    /// <see cref="WireErrorCode.UnknownModule"/> or <see cref="WireErrorCode.BudgetExceeded"/>);
    /// <see cref="WireErrorCode.Unspecified"/> for failures of another kind (I/O, timeouts, inconsistent answers).
    /// </summary>
    public WireErrorCode Code => InnerException is WireProtocolException { IsErrorResponse: true } w ? w.Code : WireErrorCode.Unspecified;
}
