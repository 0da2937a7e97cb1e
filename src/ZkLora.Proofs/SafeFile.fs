/// Reading untrusted files (proof directories, transcripts, manifests) without trusting what the
/// file system says about them: only regular files are opened, a symbolic link is refused, and
/// reading stops at a hard byte cap whatever the file's announced size is. A FIFO, a device
/// (`/dev/zero`, `/dev/urandom`), a socket or a directory in place of an artifact is an error
/// message, never a hang, an unbounded allocation or an exception.
module ZkLora.Proofs.SafeFile

open System
open System.IO
open System.Runtime.InteropServices
open Microsoft.Win32.SafeHandles

module private Native =
    // Linux: open(2) with O_NONBLOCK so that opening a FIFO returns at once instead of waiting
    // for a writer, then statx(2) on the opened descriptor, so the type checked is the type of
    // what was actually opened (no window between a check and the open). O_RDONLY = 0,
    // O_NONBLOCK = 0o4000 and O_CLOEXEC = 0o2000000 are the same on x86-64 and arm64.
    [<Literal>]
    let O_RDONLY_NONBLOCK_CLOEXEC = 0x80800

    [<Literal>]
    let AT_EMPTY_PATH = 0x1000

    [<Literal>]
    let STATX_TYPE_SIZE = 0x201u

    [<DllImport("libc", SetLastError = true, EntryPoint = "open")>]
    extern int openFile(string path, int flags)

    [<DllImport("libc", SetLastError = true, EntryPoint = "statx")>]
    extern int statx(int dirfd, string path, int flags, uint32 mask, byte[] buffer)

    [<DllImport("libc", SetLastError = true, EntryPoint = "close")>]
    extern int closeFile(int fd)

/// What a path names, as far as reading it is concerned.
type private Kind =
    | Regular
    | Other of string

let private kindOfMode (mode: int) =
    match mode &&& 0o170000 with
    | 0o100000 -> Regular
    | 0o040000 -> Other "a directory"
    | 0o010000 -> Other "a FIFO (named pipe)"
    | 0o020000 -> Other "a character device"
    | 0o060000 -> Other "a block device"
    | 0o140000 -> Other "a socket"
    | 0o120000 -> Other "a symbolic link"
    | _ -> Other "not a regular file"

/// Why a file could not be read.
type ReadFailureKind =
    /// The file does not exist (its directory does).
    | Missing
    /// The file holds more than the cap (counted while reading).
    | TooLarge
    /// Anything else: a directory, a symbolic link, a FIFO, a device, a socket, a path through a
    /// file, an empty entry, an I/O or permission failure, an invalid path.
    | Unreadable

/// A read failure: its kind and the message that names the file and says what is wrong.
type ReadFailure = { Kind: ReadFailureKind; Message: string }

let private failWith kind (message: string) : Result<'a, ReadFailure> = Error { Kind = kind; Message = message }
let private unreadable (message: string) : Result<'a, ReadFailure> = failWith Unreadable message

/// Reads all of a stream up to `cap` bytes; Error when there are more.
let private readCapped (what: string) (path: string) (cap: int64) (s: Stream) : Result<byte[], ReadFailure> =
    // Grows as bytes arrive: a file that claims a large size costs only what it really holds.
    let mutable buffer = Array.zeroCreate<byte> (int (min cap 65536L) + 1)
    let mutable filled = 0L
    let mutable ended = false
    while not ended && filled <= cap do
        if filled = int64 buffer.Length then
            let next = min (int64 buffer.Length * 2L) (cap + 1L)
            Array.Resize(&buffer, int next)
        let n = s.Read(buffer, int filled, buffer.Length - int filled)
        if n = 0 then ended <- true else filled <- filled + int64 n
    if filled > cap then failWith TooLarge (sprintf "%s file %s is larger than %d bytes" what path cap)
    else Ok(if int64 buffer.Length = filled then buffer else Array.sub buffer 0 (int filled))

let private missing (what: string) (path: string) : Result<'a, ReadFailure> =
    let parent = Path.GetDirectoryName path
    if not (String.IsNullOrEmpty parent) && File.Exists parent then
        unreadable (sprintf "%s file %s cannot exist: %s is a file, not a directory" what path parent)
    else failWith Missing (sprintf "%s file %s does not exist" what path)

/// Managed checks every platform can do: exists, not a directory, not a symbolic link.
let private precheck (what: string) (path: string) : Result<FileInfo, ReadFailure> =
    let info = FileInfo path
    if Directory.Exists path then unreadable (sprintf "%s file %s is a directory, not a file" what path)
    elif not (isNull info.LinkTarget) then
        unreadable (sprintf "%s file %s is a symbolic link; only regular files are read" what path)
    elif not info.Exists then missing what path
    else Ok info

let private readLinux (what: string) (path: string) (cap: int64) : Result<byte[], ReadFailure> =
    let fd = Native.openFile (path, Native.O_RDONLY_NONBLOCK_CLOEXEC)
    if fd < 0 then
        let errno = Marshal.GetLastPInvokeError()
        unreadable (sprintf "cannot read %s file %s: %s" what path (Marshal.GetPInvokeErrorMessage errno))
    else
        let handle = new SafeFileHandle(nativeint fd, true)
        use _ = handle
        let buf = Array.zeroCreate<byte> 256
        if Native.statx (fd, "", Native.AT_EMPTY_PATH, Native.STATX_TYPE_SIZE, buf) <> 0 then
            let errno = Marshal.GetLastPInvokeError()
            unreadable (sprintf "cannot inspect %s file %s: %s" what path (Marshal.GetPInvokeErrorMessage errno))
        else
            // struct statx: stx_mode is the u16 at byte offset 28 (same layout on every Linux arch).
            let mode = int (BitConverter.ToUInt16(buf, 28))
            match kindOfMode mode with
            | Other kind -> unreadable (sprintf "%s file %s is %s, not a regular file" what path kind)
            | Regular ->
                use s = new FileStream(handle, FileAccess.Read, 1)
                readCapped what path cap s

let mutable private nativeAvailable = OperatingSystem.IsLinux()

/// Reads a regular file of at most `cap` bytes. Error (never an exception) for a missing file,
/// a directory, a symbolic link, a FIFO, a device, a socket, a file longer than `cap` (counted
/// while reading, not taken from its metadata) or an I/O failure, with its kind. `what` names the
/// file in messages.
let tryReadBytes (what: string) (cap: int64) (path: string) : Result<byte[], ReadFailure> =
    try
        if String.IsNullOrEmpty path then unreadable (sprintf "no %s file path given" what)
        else
            match precheck what path with
            | Error e -> Error e
            | Ok info ->
                let viaNative =
                    if nativeAvailable then
                        try Some(readLinux what path cap)
                        with
                        | :? DllNotFoundException
                        | :? EntryPointNotFoundException ->
                            nativeAvailable <- false
                            None
                    else None
                match viaNative with
                | Some r -> r
                | None ->
                    // Elsewhere (Windows has no FIFOs or devices among ordinary paths; other Unixes
                    // are best effort): FIFOs, devices and sockets report length 0, and no artifact
                    // is empty, so an empty entry is refused before it is opened.
                    if info.Length = 0L then unreadable (sprintf "%s file %s is empty or not a regular file" what path)
                    else
                        use s = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1)
                        readCapped what path cap s
    with
    | :? IOException as ex -> unreadable (sprintf "cannot read %s file %s: %s" what path ex.Message)
    | :? UnauthorizedAccessException as ex -> unreadable (sprintf "cannot read %s file %s: %s" what path ex.Message)
    | :? ArgumentException as ex -> unreadable (sprintf "invalid %s file path %s: %s" what path ex.Message)
    | :? NotSupportedException as ex -> unreadable (sprintf "invalid %s file path %s: %s" what path ex.Message)
    | :? OutOfMemoryException -> unreadable (sprintf "%s file %s: not enough memory to read it" what path)

/// `tryReadBytes` with the failure as its message.
let readBytes (what: string) (cap: int64) (path: string) : Result<byte[], string> =
    tryReadBytes what cap path |> Result.mapError (fun f -> f.Message)
