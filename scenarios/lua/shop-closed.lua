-- The shop without think time: 90% product reads, 10% order posts, each connection
-- sending its next request as soon as the last is answered, so the service's own CPU
-- decides throughput and whatever it spends on instrumentation shows. The orders keep
-- the queue's lock and the workers' condition variable busy: that is where mutex and
-- block profiling sample. For the instrumentation overhead study (scenarios/overhead/).
local shop = require("shop")

setup = shop.number_threads

function init(args)
  shop.seed(thread_number)
end

function request()
  if math.random() < 0.90 then
    return shop.product_get()
  end
  return shop.order_post()
end
