using Google.Protobuf;
using Grpc.Core;

namespace Recommender.Host.Services;

/// <summary>
/// gRPC method definitions whose request parser answers a malformed message with INVALID_ARGUMENT.
/// The generated marshallers throw InvalidProtocolBufferException, which grpc-dotnet reports as
/// UNKNOWN ("Exception was thrown by handler"): a client's bad bytes would look like our fault.
/// </summary>
internal static class StrictMethods
{
    public static Method<TRequest, TResponse> Unary<TRequest, TResponse>(Google.Protobuf.Reflection.ServiceDescriptor service, string name)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new()
    {
        if (service.FindMethodByName(name) is not { } method || method.InputType.ClrType != typeof(TRequest) || method.OutputType.ClrType != typeof(TResponse))
        {
            throw new InvalidOperationException($"{service.FullName} has no method {name}({typeof(TRequest).Name}) returns {typeof(TResponse).Name}");
        }

        return new Method<TRequest, TResponse>(MethodType.Unary, service.FullName, name, Request<TRequest>(), Response<TResponse>());
    }

    private static Marshaller<T> Request<T>()
        where T : class, IMessage<T>, new()
    {
        var parser = new MessageParser<T>(() => new T());
        return Marshallers.Create(
            (message, context) => Serialize(message, context),
            context =>
            {
                try
                {
                    return parser.ParseFrom(context.PayloadAsReadOnlySequence());
                }
                catch (InvalidProtocolBufferException e)
                {
                    throw new RpcException(new Status(StatusCode.InvalidArgument, $"malformed {typeof(T).Name} message: {e.Message}"));
                }
            });
    }

    private static Marshaller<T> Response<T>()
        where T : class, IMessage<T>, new()
    {
        var parser = new MessageParser<T>(() => new T());
        return Marshallers.Create((message, context) => Serialize(message, context), context => parser.ParseFrom(context.PayloadAsReadOnlySequence()));
    }

    private static void Serialize<T>(T message, SerializationContext context)
        where T : class, IMessage<T>
    {
        context.SetPayloadLength(message.CalculateSize());
        message.WriteTo(context.GetBufferWriter());
        context.Complete();
    }
}
