; Calls through which an HTTP request leaves the org. The frontend checks the receiver's type
; (Http, Continuation) on each match; the request is the call's single argument.
;   Http.send(request)                  synchronous callout
;   Continuation.addHttpRequest(request) asynchronous callout started from Lightning or Visualforce
((method_invocation
   name: (identifier) @method
   arguments: (argument_list . (_) @request .)) @sink
 (#match? @method "^(?i:send|addHttpRequest)$"))
